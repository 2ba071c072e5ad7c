"""Files the simulator reads (empirical samples, traces, logs): their formats, readers and read
errors."""
