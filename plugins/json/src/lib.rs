//! The bundled json output (issue 4).
