package metrics

import (
	"testing"
	"time"
)

// FuzzScheduleAdditive checks that business time adds up: splitting an
// interval anywhere never changes its total, and it never exceeds wall time.
func FuzzScheduleAdditive(f *testing.F) {
	f.Add(int64(0), int64(3600), int64(7200))
	f.Add(int64(-86400*3), int64(86400), int64(86400*9))
	f.Add(int64(86400*27), int64(86400*28), int64(86400*29)) // around DST start
	s, err := NewSchedule("Europe/Berlin", map[time.Weekday][]Span{
		time.Monday: {{At(9, 0), At(12, 0)}, {At(13, 0), At(17, 30)}},
		time.Friday: {{At(22, 0), At(2, 0)}},
		time.Sunday: {{At(0, 0), At(24, 0)}},
	})
	if err != nil {
		f.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, x, y, z int64) {
		const span = 86400 * 400
		pts := []int64{x % span, y % span, z % span}
		if pts[0] > pts[1] {
			pts[0], pts[1] = pts[1], pts[0]
		}
		if pts[1] > pts[2] {
			pts[1], pts[2] = pts[2], pts[1]
		}
		if pts[0] > pts[1] {
			pts[0], pts[1] = pts[1], pts[0]
		}
		a, b, c := base.Add(time.Duration(pts[0])*time.Second), base.Add(time.Duration(pts[1])*time.Second), base.Add(time.Duration(pts[2])*time.Second)
		ab, bc, ac := s.Duration(a, b), s.Duration(b, c), s.Duration(a, c)
		if ab+bc != ac {
			t.Fatalf("%s→%s (%v) + %s→%s (%v) != %v", a, b, ab, b, c, bc, ac)
		}
		if ac < 0 || ac > c.Sub(a) {
			t.Fatalf("business %v outside [0, %v]", ac, c.Sub(a))
		}
	})
}
