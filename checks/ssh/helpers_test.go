package ssh

import (
	"errors"
	"net"
)

type netConn = net.Conn

var errRefusedByPolicy = errors.New("address refused by the execution policy")
