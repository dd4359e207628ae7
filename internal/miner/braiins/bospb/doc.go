// Package bospb holds Go code generated from bos.proto, a minimal subset of
// the Braiins OS public gRPC API (braiins.bos.v1) with the published names
// and field numbers. It is for the braiins driver and its simulator; it
// holds no logic.
//
// The generated files are committed so that building needs no protoc.
// They were made with protoc 3.21.12, protoc-gen-go v1.36.12 and
// protoc-gen-go-grpc v1.5.1:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
//	go generate ./internal/miner/braiins/bospb
package bospb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative bos.proto
