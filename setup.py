"""Build of the runtime's Cython extensions.

Metadata lives in pyproject.toml; this file only declares the compiled modules.
`make dev` builds them in place with `python setup.py build_ext --inplace`.
"""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent

# Every .pyx under bootstrap/ is one extension module named after its path.
extensions = [
    Extension(
        ".".join(pyx.relative_to(HERE).with_suffix("").parts),
        [str(pyx.relative_to(HERE))],
    )
    for pyx in sorted((HERE / "bootstrap").rglob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"embedsignature": True},
        build_dir=".build/cython",
    ),
    # setuptools writes to ./build by default, which is our freeze recipe's
    # folder: keep its intermediate files out of it.
    options={"build": {"build_base": ".build/setuptools"}},
)
