/* startup.c -- minimal Cortex-M startup for the self-test firmware.
 *
 * Vector table (initial stack pointer, reset and fault handlers), .data copy and .bss
 * clearing from the symbols of firmware.ld, FPU enable through CPACR on hard-float
 * builds, then main(); its return value becomes the semihosting exit status. A fault
 * prints its name and exits non-zero instead of hanging the emulator. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void chromatic_sh_puts(const char *s) {
    register uint32_t r0 __asm__("r0") = 0x04u; /* SYS_WRITE0 */
    register const char *r1 __asm__("r1") = s;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

void chromatic_sh_exit(int status) {
    register uint32_t r0 __asm__("r0") = 0x18u; /* SYS_EXIT */
    register uint32_t r1 __asm__("r1") = status == 0 ? 0x20026u  /* ApplicationExit */
                                                     : 0x20023u; /* RunTimeErrorUnknown */
    for (;;) __asm__ volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
}

static void fault(void) {
    chromatic_sh_puts("FAIL: hard fault\n");
    chromatic_sh_exit(2);
}

void chromatic_reset(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU), then barriers before any VFP op. */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    chromatic_sh_exit(main());
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, chromatic_reset,
    fault, fault, fault, fault, fault, /* NMI, HardFault, MemManage, BusFault, UsageFault */
};
