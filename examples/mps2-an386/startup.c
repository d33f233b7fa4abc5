/* startup.c -- this example's own Cortex-M startup: vector table, .data/.bss, FPU on, main.
 * Semihosting (bkpt 0xAB) prints and exits under QEMU or a debug probe. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void sh_puts(const char *s)
{
    register uint32_t r0 __asm__("r0") = 0x04u; /* SYS_WRITE0 */
    register const char *r1 __asm__("r1") = s;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

static void sh_exit(int status)
{
    register uint32_t r0 __asm__("r0") = 0x18u; /* SYS_EXIT */
    register uint32_t r1 __asm__("r1") = status == 0 ? 0x20026u : 0x20023u;
    for (;;) __asm__ volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
}

static void fault(void)
{
    sh_puts("hard fault\n");
    sh_exit(2);
}

void reset(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    sh_exit(main());
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_estack, reset, fault, fault, fault, fault, fault,
};
