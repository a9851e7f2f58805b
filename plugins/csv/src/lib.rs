//! The bundled csv output (issue 4).
