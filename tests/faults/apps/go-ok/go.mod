module example.com/go-ok

go 1.19
