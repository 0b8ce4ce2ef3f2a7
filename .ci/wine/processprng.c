/*
 * bcryptprimitives.dll for Wine 8, which lacks it.
 *
 * Go 1.24 and later draw their randomness from ProcessPrng in
 * bcryptprimitives.dll and refuse to start without it. Windows documents
 * the function as
 *
 *     BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData);
 *
 * filling pbData with cbData bytes from the system's generator. This
 * forwards to BCryptGenRandom with the system-preferred generator, which
 * Wine has, in chunks that fit its ULONG length. Built by .ci/wine-test
 * with Debian's mingw-w64 cross-compiler; it never ships with the library.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    while (cbData > 0) {
        ULONG n = cbData > 0x40000000 ? 0x40000000 : (ULONG)cbData;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, pbData, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        pbData += n;
        cbData -= n;
    }
    return TRUE;
}
