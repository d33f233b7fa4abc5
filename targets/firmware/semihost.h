/* semihost.h -- the three ARM semihosting calls the self-test needs (no newlib stdio).
 *
 * A semihosting call is `bkpt 0xAB` with the operation in r0 and its argument in r1;
 * QEMU (-semihosting) and debuggers answer it. Without a debugger attached a real chip
 * would fault on bkpt, so these are for emulators and debug probes only. */
#ifndef CHROMATIC_SEMIHOST_H
#define CHROMATIC_SEMIHOST_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Print a NUL-terminated string (SYS_WRITE0). */
void chromatic_sh_puts(const char *s);
/* Stop the emulator: status 0 reports ADP_Stopped_ApplicationExit (QEMU exits 0),
   anything else ADP_Stopped_RunTimeErrorUnknown (QEMU exits 1). Never returns. */
void chromatic_sh_exit(int status) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
