// Empty stand-in for k8s.io/sample-apiserver (see ../../go.mod): nothing built here imports it.
module k8s.io/sample-apiserver

go 1.26.0
