package middleware

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// imageRanges lists the address ranges the executable file is mapped at
// (text, read-only data, initialised data), read once from
// /proc/self/maps. ok is false when they cannot be determined.
var imageRanges = sync.OnceValues(func() ([][2]uintptr, bool) {
	exe, err := os.Executable()
	if err != nil {
		return nil, false
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var ranges [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode pathname
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.TrimSuffix(strings.Join(fields[5:], " "), " (deleted)") != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			return nil, false
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		ranges = append(ranges, [2]uintptr{uintptr(a), uintptr(b)})
	}
	if sc.Err() != nil || len(ranges) == 0 {
		return nil, false
	}
	return ranges, true
})

// outsideImage reports whether [p, p+n) lies wholly outside the
// executable's mapped image. When the image cannot be located it answers
// false, so nothing is scrubbed.
func outsideImage(p uintptr, n int) bool {
	ranges, ok := imageRanges()
	if !ok {
		return false
	}
	end := p + uintptr(n)
	for _, r := range ranges {
		if p < r[1] && end > r[0] {
			return false
		}
	}
	return true
}
