// go-hello: the smallest Go web app HiveMind deploys (standard library only).
// `/` answers with a fixed sentence (the end-to-end tests compare it) and `/health` with `ok`.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const greeting = "Hello from go-hello on HiveMind!"

func getenv(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, greeting)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	return mux
}

func main() {
	// HOST lets the platform choose the interface (HiveMind's local cloud gives every instance
	// its own 127.x.y.z address); 0.0.0.0 is right on a server behind a load balancer.
	addr := net.JoinHostPort(getenv("HOST", "0.0.0.0"), getenv("PORT", "8080"))
	server := &http.Server{Addr: addr, Handler: newMux(), ReadHeaderTimeout: 10 * time.Second}

	go func() {
		log.Printf("go-hello listening on http://%s", addr)
		if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()

	// Stop cleanly when the supervisor (systemd or HiveMind's own) asks.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(ctx)
}
