package lab

import "syscall"

const sigINT = syscall.SIGINT
