"""Tiny handlers the runtime's tests run under the emulator, one behaviour each."""
