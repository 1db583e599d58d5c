// go-ok: a healthy stdlib Go app; the fault points that break the platform (not the app) deploy it.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

func getenv(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "go-ok answers")
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})
	addr := net.JoinHostPort(getenv("HOST", "0.0.0.0"), getenv("PORT", "8080"))
	log.Printf("go-ok listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
