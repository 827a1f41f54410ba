/* Placeholder until the workers land. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "kinerja-worker: not implemented yet\n");
    return 1;
}
