/* tiny_smlal.S
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */
/* tiny_layers: the layers of the smlal kernel (targets/smlal.py) for this policy only.
   In: r0 the int32 activation buffers (Q16; the inputs at word 0). */
.syntax unified
.thumb
.section .text.tiny_layers,"ax",%progbits
.global tiny_layers
.type tiny_layers, %function
.p2align 2
.thumb_func
tiny_layers:
    push    {r0, r4-r11, lr}
    sub     sp, sp, #16
    ldr     r0, [sp, #16]
    mov     r1, r0
    addw    r2, r0, #36
    addw    r4, r2, #16
    ldr     r3, =.Lrowtab
    stmia   sp, {r1, r3}
    strd    r2, r4, [sp, #8]
    ldr     r8, =tiny_blob + 28 + 0
    movs    r7, #0
    ldr     lr, =0xffffffe0
    ldr     r3, =.Lpalette
.Ll0_row:
    ldmia   sp, {r2, r4}
    ldrd    r0, r1, [r4], #8
    str     r4, [sp, #4]
    ldr     r5, [r8, #0]
    ldr     r9, [r2], #4
    ubfx    r4, r5, #0, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r9
    mov     r7, lr
.Ll0_group:
    ldr     r5, [r8], #3
    ldmia   r2!, {r9, r10, r11, r12}
    ubfx    r4, r5, #3, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r9
    ubfx    r4, r5, #6, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r10
    ubfx    r4, r5, #9, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r11
    ubfx    r4, r5, #12, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r12
    ldmia   r2!, {r9, r10, r11, r12}
    ubfx    r4, r5, #15, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r9
    ubfx    r4, r5, #18, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r10
    ubfx    r4, r5, #21, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r11
    ubfx    r4, r5, #24, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r12
    adds    r7, #32
    bcc     .Ll0_group
    add     r8, r8, #1
    lsrs    r0, r0, #24
    orr     r0, r0, r1, lsl #8
    asrs    r4, r1, #23
    cmp     r4, r0, asr #31
    bne     .Ll0_sat
.Ll0_act:
    eor     r4, r0, r0, asr #31
    sub     r4, r4, r0, asr #31
    cmp     r4, #409600
    bhs     .Ll0_one
    ldr     r5, =.Ltanh
    lsrs    r6, r4, #13
    add     r5, r5, r6, lsl #4
    ldmia   r5, {r9, r10, r11, r12}
    ubfx    r4, r4, #0, #13
    mul     r6, r12, r4
    add     r6, r11, r6, asr #13
    mul     r6, r6, r4
    add     r6, r10, r6, asr #13
    mul     r6, r6, r4
    add     r6, r9, r6, asr #13
    asrs    r6, r6, #4
.Ll0_sign:
    eor     r6, r6, r0, asr #31
    sub     r0, r6, r0, asr #31
    ldrd    r4, r5, [sp, #8]
    str     r0, [r4], #4
    str     r4, [sp, #8]
    cmp     r4, r5
    bne     .Ll0_row
    b       .Ll0_end
.Ll0_sat:
    mvn     r0, #0x80000000
    cmp     r1, #0
    it      lt
    neglt   r0, r0
    b       .Ll0_act
.Ll0_one:
    mov     r6, #65536
    b       .Ll0_sign
.Ll0_end:
    ldr     r0, [sp, #16]
    addw    r1, r0, #36
    mov     r2, r0
    addw    r4, r2, #8
    ldr     r3, =.Lrowtab
    addw    r3, r3, #32
    stmia   sp, {r1, r3}
    strd    r2, r4, [sp, #8]
    ldr     r8, =tiny_blob + 28 + 16
    movs    r7, #0
    ldr     r3, =.Lpalette
.Ll1_row:
    ldmia   sp, {r2, r4}
    ldrd    r0, r1, [r4], #8
    str     r4, [sp, #4]
    ldr     r5, [r8], #2
    ldmia   r2!, {r9, r10, r11, r12}
    ubfx    r4, r5, #0, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r9
    ubfx    r4, r5, #3, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r10
    ubfx    r4, r5, #6, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r11
    ubfx    r4, r5, #9, #3
    ldr     r4, [r3, r4, lsl #2]
    smlal   r0, r1, r4, r12
    lsrs    r0, r0, #24
    orr     r0, r0, r1, lsl #8
    asrs    r4, r1, #23
    cmp     r4, r0, asr #31
    bne     .Ll1_sat
.Ll1_act:
    eor     r4, r0, r0, asr #31
    sub     r4, r4, r0, asr #31
    cmp     r4, #409600
    bhs     .Ll1_one
    ldr     r5, =.Ltanh
    lsrs    r6, r4, #13
    add     r5, r5, r6, lsl #4
    ldmia   r5, {r9, r10, r11, r12}
    ubfx    r4, r4, #0, #13
    mul     r6, r12, r4
    add     r6, r11, r6, asr #13
    mul     r6, r6, r4
    add     r6, r10, r6, asr #13
    mul     r6, r6, r4
    add     r6, r9, r6, asr #13
    asrs    r6, r6, #4
.Ll1_sign:
    eor     r6, r6, r0, asr #31
    sub     r0, r6, r0, asr #31
    ldrd    r4, r5, [sp, #8]
    str     r0, [r4], #4
    str     r4, [sp, #8]
    cmp     r4, r5
    bne     .Ll1_row
    b       .Ll1_end
.Ll1_sat:
    mvn     r0, #0x80000000
    cmp     r1, #0
    it      lt
    neglt   r0, r0
    b       .Ll1_act
.Ll1_one:
    mov     r6, #65536
    b       .Ll1_sign
.Ll1_end:
    add     sp, sp, #20
    pop     {r4-r11, pc}
    .ltorg
    .p2align 2
.Lpalette:
    .word   10854400
    .word   8445952
    .word   -22740992
    .word   -15843328
    .word   -1466368
.Ltanh:
    .word   9, 131074, -10, -671
    .word   130402, 129052, -2039, -590
    .word   256824, 123220, -3821, -449
    .word   375773, 114251, -5172, -279
    .word   484574, 103091, -6005, -112
    .word   581548, 90765, -6331, 29
    .word   666010, 78201, -6235, 131
    .word   738107, 66131, -5834, 194
    .word   798598, 55048, -5246, 222
    .word   848622, 45224, -4574, 226
    .word   889499, 36753, -3892, 214
    .word   922574, 29608, -3249, 192
    .word   949126, 23684, -2672, 167
    .word   970305, 18838, -2171, 141
    .word   987113, 14916, -1748, 117
    .word   1000397, 11769, -1397, 96
    .word   1010865, 9259, -1111, 78
    .word   1019091, 7269, -879, 62
    .word   1025544, 5696, -693, 50
    .word   1030597, 4458, -545, 39
    .word   1034548, 3485, -427, 31
    .word   1037638, 2722, -335, 24
    .word   1040049, 2125, -262, 19
    .word   1041931, 1658, -205, 15
    .word   1043399, 1293, -160, 12
    .word   1044544, 1008, -125, 9
    .word   1045436, 786, -97, 7
    .word   1046132, 612, -76, 6
    .word   1046674, 477, -59, 4
    .word   1047096, 372, -46, 3
    .word   1047425, 290, -36, 3
    .word   1047681, 226, -28, 2
    .word   1047881, 176, -22, 2
    .word   1048037, 137, -17, 1
    .word   1048158, 107, -13, 1
    .word   1048252, 83, -10, 1
    .word   1048325, 65, -8, 1
    .word   1048383, 50, -6, 0
    .word   1048427, 39, -5, 0
    .word   1048462, 31, -4, 0
    .word   1048489, 24, -3, 0
    .word   1048510, 19, -2, 0
    .word   1048526, 14, -2, 0
    .word   1048539, 11, -1, 0
    .word   1048544, 9, -1, 0
    .word   1048557, 7, -1, 0
    .word   1048560, 5, -1, 0
    .word   1048561, 4, -1, 0
    .word   1048565, 3, 0, 0
    .word   1048568, 3, 0, 0
.Lrowtab:
    .word   0x32800000, 0xfffffff5
    .word   0x78800000, 0x00000005
    .word   0x90800000, 0x00000005
    .word   0x38800000, 0x00000036
    .word   0x88800000, 0xffffffe3
    .word   0x56800000, 0xfffffff6
.size tiny_layers, . - tiny_layers
