/* Placeholder until the broker lands. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "kinerja-broker: not implemented yet\n");
    return 1;
}
