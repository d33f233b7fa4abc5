/* tiny_packed.S
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */
/* tiny_mul64: the packed kernel's exact 32 x 32 -> 64-bit signed product on v6-M (Cortex-M0/M0+),
   which has no such multiply (targets/packed.py): a * b from four 16 x 16 -> 32-bit MULS (each
   product of the halves fits 32 bits) and two carried adds, 20 instructions with the return;
   the library's 64 x 64 __aeabi_lmul takes ~50. Empty on other cores (they multiply inline).
   In: r0 = a, r1 = b. Out: r0 (low word), r1 (high word). */
#if defined(__ARM_ARCH_6M__)
.syntax unified
.thumb
.section .text.tiny_mul64,"ax",%progbits
.global tiny_mul64
.type tiny_mul64, %function
.p2align 1
.thumb_func
tiny_mul64:
    push    {r4, r5}
    uxth    r2, r0            /* al */
    asrs    r0, r0, #16       /* ah */
    uxth    r3, r1            /* bl */
    asrs    r1, r1, #16       /* bh */
    movs    r4, r2
    muls    r4, r3, r4        /* al * bl, unsigned: < 2^32 */
    muls    r3, r0, r3        /* ah * bl: |.| < 2^31 */
    muls    r2, r1, r2        /* al * bh */
    muls    r1, r0, r1        /* ah * bh: the high word's base */
    asrs    r5, r3, #16
    lsls    r3, r3, #16
    adds    r0, r4, r3        /* + (ah * bl) << 16 */
    adcs    r1, r1, r5
    asrs    r5, r2, #16
    lsls    r2, r2, #16
    adds    r0, r0, r2        /* + (al * bh) << 16 */
    adcs    r1, r1, r5
    pop     {r4, r5}
    bx      lr
.size tiny_mul64, . - tiny_mul64
#endif
