"""A Lambda custom runtime for provided.al2023 whose loop and parsers are Cython."""
