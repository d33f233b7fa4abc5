"""The portable C kernel (chromatic.h/.c), the dense baseline and host bench loops."""
