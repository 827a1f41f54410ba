/*
 * uuid4: fresh random (version 4) event ids for the events the CLI makes itself
 * (`recalc`, `signoff`, `appeal`, `decide`, the simulated kiosks of `bench`), from
 * libsodium's CSPRNG (sodium_init() must have been called). Canonical 36-char form.
 */
#ifndef KINERJA_UUID4_H
#define KINERJA_UUID4_H

#define UUID4_LEN 37 /* 36 characters and the NUL */

void uuid4_generate(char out[UUID4_LEN]);

#endif
