module example.com/out-gocount

go 1.21

require github.com/loadrun/loadrun/plugin-api/go v0.0.0

// The SDK is not on a module proxy: point at a checkout of loadrun's plugin-api/go (or a copy).
replace github.com/loadrun/loadrun/plugin-api/go => ../../plugin-api/go
