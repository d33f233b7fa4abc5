/* main.c -- a bare-metal control loop around one chromatic policy (mps2-an386, Cortex-M4F).
 *
 * Each step reads an observation from the "sensors", runs the policy and writes the action
 * to the "actuators". Here the sensors are a deterministic test signal and the actuators a
 * semihosting console line per step (the float bits of each action in hex), so a host can
 * check every action against the numpy reference (tests/test_build.py). On a real
 * board, replace read_sensors/write_actuators with ADC reads and PWM writes.
 *
 * The policy's API is <prefix>_init/<prefix>_infer in <prefix>.h; the Makefile (PREFIX=...)
 * passes the prefix as EXAMPLE_POLICY, default chromatic_policy (build's default). */
#include <stdint.h>
#include <string.h>

#ifndef EXAMPLE_POLICY
#define EXAMPLE_POLICY chromatic_policy
#define EXAMPLE_POLICY_H "chromatic_policy.h"
#define EXAMPLE_OBS_DIM CHROMATIC_POLICY_OBS_DIM
#define EXAMPLE_ACT_DIM CHROMATIC_POLICY_ACT_DIM
#endif
#include EXAMPLE_POLICY_H
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define policy_init CAT(EXAMPLE_POLICY, _init)
#define policy_infer CAT(EXAMPLE_POLICY, _infer)

#define STEPS 16

#ifdef __cplusplus /* main.c compiles as C++ too (tests/test_build.py) */
extern "C"
#endif
void sh_puts(const char *s);

/* obs[j] at step t: multiples of 1/4 in [-1.25, 1.25], exact in float32. */
static void read_sensors(uint32_t t, float *obs)
{
    uint32_t j;
    for (j = 0; j < EXAMPLE_OBS_DIM; j++)
        obs[j] = (float)((int32_t)((t * 7u + j * 3u) % 11u) - 5) * 0.25f;
}

static void write_actuators(uint32_t t, const float *act)
{
    static const char hex[] = "0123456789abcdef";
    char line[8 + 9 * EXAMPLE_ACT_DIM + 2];
    uint32_t j, k, n = 0, bits;
    for (k = 0; k < 8; k++) line[n++] = hex[(t >> (28 - 4 * k)) & 15u];
    for (j = 0; j < EXAMPLE_ACT_DIM; j++) {
        memcpy(&bits, &act[j], sizeof bits);
        line[n++] = ' ';
        for (k = 0; k < 8; k++) line[n++] = hex[(bits >> (28 - 4 * k)) & 15u];
    }
    line[n++] = '\n';
    line[n] = 0;
    sh_puts(line);
}

int main(void)
{
    float obs[EXAMPLE_OBS_DIM], act[EXAMPLE_ACT_DIM];
    uint32_t t;
    if (policy_init() != 0) { /* bad blob: keep the actuators off */
        sh_puts("init failed\n");
        return 1;
    }
    for (t = 0; t < STEPS; t++) {
        read_sensors(t, obs);
        if (policy_infer(obs, act) != 0) return 1;
        write_actuators(t, act);
    }
    return 0;
}
