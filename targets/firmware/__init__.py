"""Static firmware sources: startup, semihosting, linker script, fixed-point kernel."""
