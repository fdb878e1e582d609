/*
 * Start-up hooks of the frozen bootstrap, bound at link time (ld --wrap).
 *
 * Nuitka 4.3's main() calls patchInspectModule() before any program code. It
 * imports `inspect` (and with it ast, dis, tokenize, enum and more) only to
 * teach inspect.getgeneratorstate, inspect.getcoroutinestate, types.coroutine
 * and inspect._get_code_position about compiled generators and frames. The
 * runtime and the sessions handler never call those, and the imports are the
 * largest part of what the frozen hello loads beyond our runtime on CPython
 * (93 modules against 80), on every cold start. The frozen bootstrap skips
 * the patch.
 *
 * NOTE: handler code frozen into this binary that calls one of those four
 * functions on a compiled generator or frame gets CPython's stock answer.
 *
 * The same call is the one hook between Py_Initialize and the first line of
 * program code, so it also turns the garbage collector off. Nuitka unpacks
 * each module's constants and runs its body before bootstrap/__main__.py can
 * call gc.disable(): every collection in between walks objects that live as
 * long as the process. bootstrap.main turns the collector back on, with init's
 * objects frozen out of its reach, once init is done.
 */

#include <Python.h>

void __wrap_patchInspectModule(void *thread_state) {
    (void)thread_state;
    PyGC_Disable();
}
