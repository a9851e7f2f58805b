//! loadrun cloud output (k6 Cloud protocol).
