/* tiny_muls.S
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */
/* tiny_row0, tiny_row1: the rows of the muls kernel (targets/muls.py) for this policy only, Thumb-1 (v6-M):
   int32_t row(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase) returns s plus
   the row's products palette[c_j] * x_j (32 x 32 -> 32 MULS; the generator bounded the sum to
   int32), its packed indices from bit phase (0-7) of byte p of the blob's dictionary. */
.syntax unified
.thumb
.section .text.tiny_row0,"ax",%progbits
.global tiny_row0
.type tiny_row0, %function
.p2align 1
.thumb_func
tiny_row0:
    push    {r4, r5, r6, r7, lr}
    mov     r4, r8
    mov     r5, r9
    push    {r4, r5}
    mov     r8, r1
    movs    r7, r2
    movs    r1, r3
    ldr     r2, =tiny_w0
    movs    r3, #28
    ldrb    r4, [r7, #0]
    lsls    r5, r4, #2
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #0]
    muls    r5, r6, r5
    add     r8, r5
    adds    r0, #4
    movs    r5, #3
    add     r5, r7
    mov     r9, r5
    tiny_row0_group:
    ldrb    r4, [r7, #0]
    ldrb    r5, [r7, #1]
    lsls    r5, r5, #8
    orrs    r4, r5
    ldrb    r5, [r7, #2]
    lsls    r5, r5, #16
    orrs    r4, r5
    ldrb    r5, [r7, #3]
    lsls    r5, r5, #24
    orrs    r4, r5
    lsrs    r5, r4, #1
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #0]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #4
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #4]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #7
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #8]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #10
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #12]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #13
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #16]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #16
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #20]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #19
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #24]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #22
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #28]
    muls    r5, r6, r5
    add     r8, r5
    adds    r7, #3
    adds    r0, #32
    cmp     r7, r9
    bne     tiny_row0_group
    mov     r0, r8
    pop     {r4, r5}
    mov     r8, r4
    mov     r9, r5
    pop     {r4, r5, r6, r7, pc}
    .ltorg
.size tiny_row0, . - tiny_row0
.section .text.tiny_row1,"ax",%progbits
.global tiny_row1
.type tiny_row1, %function
.p2align 1
.thumb_func
tiny_row1:
    push    {r4, r5, r6, r7, lr}
    mov     r4, r8
    mov     r5, r9
    push    {r4, r5}
    mov     r8, r1
    movs    r7, r2
    movs    r1, r3
    ldr     r2, =tiny_w1
    movs    r3, #28
    ldrb    r4, [r7, #0]
    ldrb    r5, [r7, #1]
    lsls    r5, r5, #8
    orrs    r4, r5
    lsls    r5, r4, #2
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #0]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #1
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #4]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #4
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #8]
    muls    r5, r6, r5
    add     r8, r5
    lsrs    r5, r4, #7
    ands    r5, r3
    ldr     r5, [r2, r5]
    ldr     r6, [r0, #12]
    muls    r5, r6, r5
    add     r8, r5
    mov     r0, r8
    pop     {r4, r5}
    mov     r8, r4
    mov     r9, r5
    pop     {r4, r5, r6, r7, pc}
    .ltorg
.size tiny_row1, . - tiny_row1
