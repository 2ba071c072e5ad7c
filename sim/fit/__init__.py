"""Inputs fitted from data: `[traffic]` from a trace (rate, diurnal profile, dispersion, the
fragment written), and `calibrate`'s confidence fits per segment."""
