module example.com/out-gopanic

go 1.21

require github.com/loadrun/loadrun/plugin-api/go v0.0.0

replace github.com/loadrun/loadrun/plugin-api/go => ../../../plugin-api/go
