//! Stand-in so the workspace builds on the page branch: the output itself comes from the `dash`
//! branch, which replaces this file; this branch holds only the page in `assets/`.
