package engine

import (
	"time"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
)

// settle makes the records of this run's racy stats trustworthy for the
// next run. A target's stat is taken right after its build wrote it, so
// it is racy (fingerprint.Racy): a write in the same clock tick could
// leave it unchanged, and the next run must hash the file again. For a
// first build of 1000 targets that made the first no-op cost several
// times the next one. So once the racy window of the newest of them has
// passed (it is short: fingerprint.Granularity), each is stat'ed and
// hashed again; one whose stat and content are still the ones recorded
// gets the new stat time, which no later same-tick write can fool. A
// coarse-timestamp file system (2 s ticks) is not waited for, and a file
// larger than maxSettleSize is left to the next run.
// maxSettleSize bounds the files settle hashes again: a few ms each.
const maxSettleSize = 16 << 20

func (e *Engine) settle() {
	e.settleMu.Lock()
	paths := e.toSettle
	e.toSettle = nil
	e.settleMu.Unlock()
	if len(paths) == 0 || e.db == nil {
		return
	}
	var newest int64
	var recs []*state.Record
	for _, p := range paths {
		rec := e.record(p)
		if rec == nil || !rec.Target || rec.Building || !fingerprint.Racy(rec.Stat, rec.Recorded) {
			continue
		}
		if rec.Stat.Mtime%1e9 == 0 && rec.Stat.Ctime%1e9 == 0 {
			continue // coarse timestamps: a 2 s wait costs more than it saves
		}
		if rec.Stat.Size > maxSettleSize {
			continue // hashing it again here would only move the cost
		}
		newest = max(newest, rec.Stat.Mtime, rec.Stat.Ctime)
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return
	}
	if wait := time.Duration(newest + int64(fingerprint.Granularity) - time.Now().UnixNano()); wait > 0 {
		time.Sleep(wait + time.Millisecond)
	}
	var settled []*state.Record
	for _, rec := range recs {
		e.forget(rec.Path)
		fs, err := e.fingerprint(rec.Path)
		if err != nil || fs.stat != rec.Stat || fingerprint.Racy(fs.stat, fs.at) {
			continue
		}
		h, err := fingerprint.HashFile(e.Abs(rec.Path), fs.stat)
		if err != nil || h != rec.Hash {
			continue
		}
		cp := *rec
		cp.Recorded = fs.at
		settled = append(settled, &cp)
	}
	// As observed records: one another process rebuilt since is kept.
	if err := e.db.PutObserved(nil, settled); err != nil {
		e.warn("%v", err)
		return
	}
	e.recMu.Lock()
	for _, r := range settled {
		e.recs[r.Path] = r
	}
	e.recMu.Unlock()
}
