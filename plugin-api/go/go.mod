module github.com/loadrun/loadrun/plugin-api/go

go 1.21
