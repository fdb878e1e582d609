# Declarations other Cython modules may cimport from bootstrap.http.events.

cdef str _unquote(str text, bint plus_is_space)
cdef dict _parse_query_string(str raw)
