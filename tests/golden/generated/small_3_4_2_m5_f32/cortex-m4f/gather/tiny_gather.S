/* tiny_gather.S
 * generated from policy b628a4411f3ab22b by chromatic <version> — do not edit. */
/* tiny_infer: the gather kernel (targets/gather.py) for this policy only. */
.syntax unified
.thumb
.fpu fpv4-sp-d16
.section .text.tiny_infer,"ax",%progbits
.global tiny_infer
.type tiny_infer, %function
.p2align 2
.thumb_func
tiny_infer:
    push    {r1, r4-r11, lr}
    vpush   {s16-s20}
    ldr     r2, .Lram
    ldmia.w r2!, {r5, r10, r11}
    cbnz    r5, .Lready
    movs    r0, #12
    b       .Lret
.Lready:
    addw    r9, r2, #28
    movs    r7, #3
    ldr     r3, .Lobs
.Lnorm:
    vldr    s1, [r5, #12]
    vldmia  r5!, {s0}
    vldmia  r0!, {s2}
    vsub.f32 s2, s2, s0
    vdiv.f32 s2, s2, s1
    vmov    r4, s2
    cmp.w   r3, r4, lsl #1
    bcs     .Lgood
    lsls    r6, r4, #1
    rrx     r4, r3
    cmp.w   r6, #0xff000000
    it      hi
    movhi   r4, #0
.Lgood:
    stmia   r2!, {r4}
    subs    r7, #1
    bne     .Lnorm
    adr     r0, .Ltanh
    mov     r12, r2
    subs    r2, #12
    movs    r1, #16
    bl      .Lrows_3_0_1
    ldr.w   r12, [sp, #20]
    movs    r1, #8
    bl      .Lrows_4_0_1
    movs    r0, #0
.Lret:
    vpop    {s16-s20}
    pop     {r1, r4-r11, pc}
.Lrows_3_0_1:
    add     r1, r1, r12
    vldmia  r2!, {s17-s19}
    push    {r0, r1, r2, r3, lr}
    ldm.w   sp, {r0, r1, r8, lr}
.Lrows_3_0_1_row:
    vldmia  r11!, {s16}
    ldr.w   r6, [r10, #0]
    lsrs    r6, r6, r7
    ubfx    r0, r6, #0, #3
    ubfx    r1, r6, #3, #3
    ubfx    r6, r6, #6, #3
    ldr.w   r0, [r9, r0, lsl #2]
    ldr.w   r1, [r9, r1, lsl #2]
    ldr.w   r6, [r9, r6, lsl #2]
    push    {r0, r1, r6}
    vpop    {s0-s2}
    vfma.f32 s16, s0, s17
    vfma.f32 s16, s1, s18
    vfma.f32 s16, s2, s19
    adds    r7, r7, #9
    add.w   r10, r10, r7, lsr #3
    and     r7, r7, #7
    ldm.w   sp, {r0, r1, r8, lr}
    vldm    r0, {s0-s7}
    vcvt.s32.f32 s16, s16, #28
    vcvt.f32.s32 s16, s16, #28
    vmul.f32 s8, s16, s16
    vfma.f32 s1, s8, s0
    vfma.f32 s2, s8, s1
    vfma.f32 s3, s8, s2
    vadd.f32 s4, s4, s8
    vfma.f32 s5, s8, s4
    vfma.f32 s6, s8, s5
    vfma.f32 s7, s8, s6
    vmul.f32 s3, s3, s16
    vdiv.f32 s16, s3, s7
    vstmia  r12!, {s16}
    cmp     r12, r1
    bne     .Lrows_3_0_1_row
    pop     {r0, r1, r2, r3, pc}
.Lrows_4_0_1:
    add     r1, r1, r12
    vldmia  r2!, {s17-s20}
    push    {r0, r1, r2, r3, lr}
    ldm.w   sp, {r0, r1, r8, lr}
.Lrows_4_0_1_row:
    vldmia  r11!, {s16}
    ldr.w   r6, [r10, #0]
    lsrs    r6, r6, r7
    ubfx    r0, r6, #0, #3
    ubfx    r1, r6, #3, #3
    ubfx    r2, r6, #6, #3
    ubfx    r6, r6, #9, #3
    ldr.w   r0, [r9, r0, lsl #2]
    ldr.w   r1, [r9, r1, lsl #2]
    ldr.w   r2, [r9, r2, lsl #2]
    ldr.w   r6, [r9, r6, lsl #2]
    push    {r0, r1, r2, r6}
    vpop    {s0-s3}
    vfma.f32 s16, s0, s17
    vfma.f32 s16, s1, s18
    vfma.f32 s16, s2, s19
    vfma.f32 s16, s3, s20
    adds    r7, r7, #12
    add.w   r10, r10, r7, lsr #3
    and     r7, r7, #7
    ldm.w   sp, {r0, r1, r8, lr}
    vldm    r0, {s0-s7}
    vcvt.s32.f32 s16, s16, #28
    vcvt.f32.s32 s16, s16, #28
    vmul.f32 s8, s16, s16
    vfma.f32 s1, s8, s0
    vfma.f32 s2, s8, s1
    vfma.f32 s3, s8, s2
    vadd.f32 s4, s4, s8
    vfma.f32 s5, s8, s4
    vfma.f32 s6, s8, s5
    vfma.f32 s7, s8, s6
    vmul.f32 s3, s3, s16
    vdiv.f32 s16, s3, s7
    vstmia  r12!, {s16}
    cmp     r12, r1
    bne     .Lrows_4_0_1_row
    pop     {r0, r1, r2, r3, pc}
    .p2align 2
.Ltanh:
    .word   0x423aa5d3  /* 46.661936272886045 */
    .word   0x463d7190  /* 12124.39091763456 */
    .word   0x49021186  /* 532760.3795387057 */
    .word   0x4a7bcdc6  /* 4125553.4036779488 */
    .word   0x447478c8  /* 977.8871940148175 */
    .word   0x47bf7bb1  /* 98039.38222279807 */
    .word   0x49e8e701  /* 1907936.076915762 */
    .word   0x4a7bcdd0  /* 4125556.1086033187 */
.Lobs:
    .word   0x8c388000  /* OBS_LIMIT's bits << 1 */
.Lram:
    .word   tiny_ram
    .ltorg
.size tiny_infer, . - tiny_infer
