// Command hello is built by TestBuildBinary: it prints its arguments and
// HELLO_NAME, then exits with code 7.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello", os.Getenv("HELLO_NAME"), os.Args[1:])
	os.Exit(7)
}
