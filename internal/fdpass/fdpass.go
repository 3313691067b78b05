// Package fdpass reads the file descriptors passed over a unix socket
// (SCM_RIGHTS): one implementation for the sandbox's init and spawner and
// for the engine's redo* requests.
package fdpass

import "golang.org/x/sys/unix"

// ParseRights returns the fds passed in the control messages oob. On an
// error it closes the ones it had parsed, so none leaks.
func ParseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, cm := range msgs {
		more, err := unix.ParseUnixRights(&cm)
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, err
		}
		fds = append(fds, more...)
	}
	return fds, nil
}
