/*
 * The runtime's Cython modules, linked into the executable as built-in
 * modules instead of loaded as shared objects.
 *
 * As files, each module costs a cold start a dlopen: in the single file also a
 * memory file and a copy of its bytes (payload.c), and in both layouts the
 * dynamic loader's symbol lookups against the executable. Every cold start
 * loads three of them before the first invoke, and the sessions handler a
 * fourth. Linked in, their code is part of the executable's image and the
 * interpreter finds them in its table of built-in modules, by their dotted
 * names (BuiltinImporter ignores the package path).
 *
 * The build compiles each module's C (Cython's output under .build/cython)
 * and generates extension_table.h, one EXTENSION(name, init) entry per
 * module. Built-in modules must be registered before the interpreter starts:
 * the link wraps Py_InitializeFromConfig, which Nuitka's main() calls once.
 */

#include <Python.h>

#include "extension_table.h"

#define EXTENSION(name, init) PyMODINIT_FUNC init(void);
EXTENSION_TABLE
#undef EXTENSION

PyStatus __real_Py_InitializeFromConfig(const PyConfig *config);

PyStatus __wrap_Py_InitializeFromConfig(const PyConfig *config) {
#define EXTENSION(name, init)                        \
    if (PyImport_AppendInittab(name, init) != 0) {   \
        return PyStatus_NoMemory();                  \
    }
    EXTENSION_TABLE
#undef EXTENSION
    return __real_Py_InitializeFromConfig(config);
}
