"""Cold and warm benchmarks of the function against its peers, run side by side."""
