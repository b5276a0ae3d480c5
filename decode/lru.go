package decode

// lruLinks are a node's links in an lruList; a node embeds them.
type lruLinks[T any] struct{ prev, newr *T }

// lruNode is a pointer to a node that embeds lruLinks.
type lruNode[T any] interface {
	*T
	links() *lruLinks[T]
}

// lruList is an intrusive doubly linked list, oldest (head) to newest
// (tail): the defragmenter's datagrams and the TCP streams, each dropped
// oldest first when a bound or the capture-time clock says so.
type lruList[T any, P lruNode[T]] struct {
	head, tail *T
}

// push links x last (newest).
func (l *lruList[T, P]) push(x *T) {
	ln := P(x).links()
	ln.prev, ln.newr = l.tail, nil
	if l.tail != nil {
		P(l.tail).links().newr = x
	} else {
		l.head = x
	}
	l.tail = x
}

// remove unlinks x.
func (l *lruList[T, P]) remove(x *T) {
	ln := P(x).links()
	if ln.prev != nil {
		P(ln.prev).links().newr = ln.newr
	} else {
		l.head = ln.newr
	}
	if ln.newr != nil {
		P(ln.newr).links().prev = ln.prev
	} else {
		l.tail = ln.prev
	}
	ln.prev, ln.newr = nil, nil
}

// toBack makes x the newest.
func (l *lruList[T, P]) toBack(x *T) {
	if l.tail != x {
		l.remove(x)
		l.push(x)
	}
}
