package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Route bucket reserve: background requests leave slots for people. Every test runs in a synctest bubble; the
// key's main window is large and unpaced so only the route bucket decides.

const reserveLat = 50 * time.Millisecond

// reserveRig is a gate with one route bucket over /monitors* in front of a fake server, its window already learnt.
func reserveRig(t *testing.T, r Route) (*Gate, *sendLog) {
	t.Helper()
	srv := newFakeServer(fakeConfig{Limit: 10000, Latency: reserveLat})
	log := &sendLog{next: srv}
	r.Method, r.Pattern = "*", "/monitors*"
	g := quietGate(log, Options{Routes: []Route{r}, DisablePacing: true, InteractiveReserve: -1})
	if _, err := get(t, t.Context(), g, "/me", "X-Tag", "learn"); err != nil {
		t.Fatal(err)
	}
	// Start a few seconds into the key's window, clear of its start (whose whole-second reset is read late).
	time.Sleep(time.Until(epochPlus(5 * time.Second)))
	return g, log
}

// burst starts n background reads of distinct monitors, one a microsecond apart, and returns their wait group.
func burst(t *testing.T, ctx context.Context, g *Gate, n int) *sync.WaitGroup {
	var wg sync.WaitGroup
	bg := WithTicket(ctx, Ticket{Class: Background, User: "notifier"})
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * time.Microsecond)
			if _, err := get(t, bg, g, fmt.Sprintf("/monitors/m%d", i), "X-Tag", "bg"); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		})
	}
	return &wg
}

// person sends one interactive monitor read at `at` and returns how long it waited for the gate to send it.
func person(t *testing.T, g *Gate, log *sendLog, user string, at time.Time) time.Duration {
	time.Sleep(time.Until(at))
	tag := "person-" + user
	if _, err := get(t, WithTicket(t.Context(), Ticket{Class: Interactive, User: user}), g, "/monitors/"+user, "X-Tag", tag); err != nil {
		t.Fatal(err)
	}
	for _, s := range log.sends() {
		if s.tag == tag {
			return s.at.Sub(at)
		}
	}
	t.Fatalf("%s's request never reached the server", user)
	return 0
}

// checkBucketLog asserts, over the route's sends, that no window holds more than the limit and that no
// background send left fewer than reserve slots for the horizon `within` (counting every class).
func checkBucketLog(t *testing.T, log *sendLog, limit, reserve int, window, within time.Duration) {
	t.Helper()
	var route []sent
	for _, s := range log.sends() {
		if s.tag != "learn" {
			route = append(route, s)
		}
	}
	for i, s := range route {
		inWindow, inSpan := 0, 0
		for _, p := range route[:i+1] {
			if s.at.Sub(p.at) < window+bucketGuard {
				inWindow++
			}
			if s.at.Sub(p.at) < window+bucketGuard-within {
				inSpan++
			}
		}
		if inWindow > limit {
			t.Fatalf("send %d (%s) at %v: %d sends within one window, limit %d", i, s.tag, s.at, inWindow, limit)
		}
		if s.tag == "bg" && inSpan > limit-reserve {
			t.Fatalf("background send %d at %v took the reserve: %d sends hold a slot %v later, limit %d − reserve %d",
				i, s.at, inSpan, within, limit, reserve)
		}
	}
}

func TestRouteReserveDefaults(t *testing.T) {
	cases := []struct {
		r           Route
		wantReserve int
		wantWithin  time.Duration
	}{
		{Route{Limit: 10, Window: 10 * time.Second}, 3, 2 * time.Second},
		{Route{Limit: 300, Window: time.Minute}, 90, 2 * time.Second},
		{Route{Limit: 5, Window: 5 * time.Second}, 2, time.Second},
		{Route{Limit: 4, Window: 10 * time.Second}, 2, 2 * time.Second},
		{Route{Limit: 2, Window: 10 * time.Second}, 1, 2 * time.Second},
		{Route{Limit: 1, Window: 10 * time.Second}, 0, 2 * time.Second},
		{Route{Limit: 10, Window: 10 * time.Second, Reserve: -1}, 0, 2 * time.Second},
		{Route{Limit: 10, Window: 10 * time.Second, Reserve: 12}, 9, 2 * time.Second},
		{Route{Limit: 10, Window: 10 * time.Second, Reserve: 1, ReserveWithin: -1}, 1, 0},
		{Route{Limit: 10, Window: 10 * time.Second, ReserveWithin: time.Minute}, 3, 10 * time.Second},
	}
	for _, c := range cases {
		res, within := routeReserve(c.r)
		if res != c.wantReserve || within != c.wantWithin {
			t.Errorf("%+v: reserve %d within %v; want %d within %v", c.r, res, within, c.wantReserve, c.wantWithin)
		}
	}
}

// A burst of background reads takes at most Limit − Reserve slots at once; the reserve waits for people.
func TestRouteReserveBackgroundCannotTakeIt(t *testing.T) {
	cases := []struct {
		name   string
		route  Route
		n      int
		atOnce int // background sends in the burst's first instant: the pace's burst, at most Limit − Reserve
	}{
		{"10 per 10 s, default reserve", Route{Limit: 10, Window: 10 * time.Second}, 20, routeBackgroundBurst},
		{"10 per 10 s, reserve 1", Route{Limit: 10, Window: 10 * time.Second, Reserve: 1}, 20, routeBackgroundBurst},
		{"10 per 10 s, reserve never lent", Route{Limit: 10, Window: 10 * time.Second, ReserveWithin: -1}, 20, routeBackgroundBurst},
		{"10 per 10 s, reserve 9", Route{Limit: 10, Window: 10 * time.Second, Reserve: 9}, 20, 1},
		{"10 per 10 s, no reserve", Route{Limit: 10, Window: 10 * time.Second, Reserve: -1}, 20, 10},
		{"4 per 10 s", Route{Limit: 4, Window: 10 * time.Second}, 6, 2},
		{"2 per 5 s", Route{Limit: 2, Window: 5 * time.Second}, 4, 1},
		{"1 per 5 s: nothing to reserve", Route{Limit: 1, Window: 5 * time.Second}, 3, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, log := reserveRig(t, c.route)
				defer g.Close()
				start := time.Now()
				wg := burst(t, t.Context(), g, c.n)
				time.Sleep(reserveLat)
				got := 0
				for _, s := range log.sends() {
					if s.tag == "bg" && s.at.Sub(start) < reserveLat {
						got++
					}
				}
				if got != c.atOnce {
					t.Errorf("%d background reads sent at once; want %d", got, c.atOnce)
				}
				wg.Wait()
				res, within := routeReserve(c.route)
				checkBucketLog(t, log, c.route.Limit, res, c.route.Window, within)
			})
		})
	}
}

// People arriving at any moment after a burst of background reads find a route slot within ReserveWithin, as
// many of them at once as the reserve holds; without the reserve they wait for the burst's window to pass.
func TestRouteReservePeopleAfterABackgroundBurst(t *testing.T) {
	ten := Route{Limit: 10, Window: 10 * time.Second}
	none := ten
	none.Reserve = -1
	noLend := ten
	noLend.ReserveWithin = -1
	cases := []struct {
		name    string
		route   Route
		after   time.Duration // people arrive this long after the burst started
		people  int
		maxWait time.Duration // each person's wait for the route slot at most
		minWait time.Duration // and the longest wait at least (the cases without a reserve)
	}{
		{"at once", ten, time.Millisecond, 1, 0, 0},
		{"three at once: the whole reserve", ten, time.Millisecond, 3, 0, 0},
		{"after 5 s", ten, 5 * time.Second, 2, 0, 0},
		{"when background borrows the reserve", ten, 8250*time.Millisecond + time.Millisecond, 1, 2 * time.Second, 0},
		{"at 9 s", ten, 9 * time.Second, 3, 2 * time.Second, 0},
		{"second wave", ten, 12 * time.Second, 3, 2 * time.Second, 0},
		// Beyond the reserve, people wait for background slots to age out: paced, one every 8.25 s / 7.
		{"five at 9 s: beyond the reserve", ten, 9 * time.Second, 5, 2*time.Second + 2*8250*time.Millisecond/7, 0},
		{"never lent, at 9 s", noLend, 9 * time.Second, 3, 0, 0},
		{"no reserve, at once", none, time.Millisecond, 1, 11 * time.Second, 9 * time.Second},
		{"no reserve, after 5 s", none, 5 * time.Second, 1, 6 * time.Second, 4 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, log := reserveRig(t, c.route)
				defer g.Close()
				start := time.Now()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				// A notifier that keeps sending: 20 reads at once, then one more each time one ends.
				bg := burst(t, ctx, g, 20)
				bg.Go(func() {
					loop(t, WithTicket(ctx, Ticket{Class: Background, User: "poller"}), g, "/monitors/poll", "X-Tag", "bg")
				})
				waits := make([]time.Duration, c.people)
				var wg sync.WaitGroup
				for i := range c.people {
					wg.Go(func() {
						waits[i] = person(t, g, log, fmt.Sprintf("U%d", i), start.Add(c.after+time.Duration(i)*time.Microsecond))
					})
				}
				wg.Wait()
				cancel()
				bg.Wait()
				t.Logf("waits %v", waits)
				longest := time.Duration(0)
				for i, w := range waits {
					if w > c.maxWait {
						t.Errorf("person %d arriving %v after the burst waited %v; want ≤ %v", i, c.after, w, c.maxWait)
					}
					longest = max(longest, w)
				}
				if longest < c.minWait {
					t.Errorf("longest wait %v; want ≥ %v (the case is meant to show the bucket spent)", longest, c.minWait)
				}
				res, within := routeReserve(c.route)
				checkBucketLog(t, log, c.route.Limit, res, c.route.Window, within)
			})
		})
	}
}

// With nobody asking, background reads still drain: all of a burst go out at the pace, borrowing the reserve
// slot by slot, and a steady background stream gets Limit − Reserve per Window + guard − ReserveWithin.
func TestRouteReserveBackgroundDrainsWithoutPeople(t *testing.T) {
	cases := []struct {
		name  string
		route Route
		n     int
	}{
		{"default", Route{Limit: 10, Window: 10 * time.Second}, 20},
		{"never lent", Route{Limit: 10, Window: 10 * time.Second, ReserveWithin: -1}, 20},
		{"no reserve", Route{Limit: 10, Window: 10 * time.Second, Reserve: -1}, 20},
		{"2 per 5 s", Route{Limit: 2, Window: 5 * time.Second}, 6},
		{"300 per minute", Route{Limit: 300, Window: time.Minute}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, log := reserveRig(t, c.route)
				defer g.Close()
				res, within := routeReserve(c.route)
				keep, span := c.route.Limit-res, c.route.Window+bucketGuard-within
				// The pace: keep per span. Without a reserve: the bucket's own limit per window.
				rate := float64(keep) / span.Seconds()
				if res == 0 {
					rate = float64(c.route.Limit) / (c.route.Window + bucketGuard).Seconds()
				}
				start := time.Now()
				burst(t, t.Context(), g, c.n).Wait()
				var last time.Time
				n := 0
				for _, s := range log.sends() {
					if s.tag == "bg" {
						n++
						last = s.at
					}
				}
				// At the pace from the start, one span of slack (the hard window and the burst's phase).
				drainMax := time.Duration(float64(c.n)/rate*float64(time.Second)) + span
				if n != c.n || last.Sub(start) > drainMax {
					t.Fatalf("%d of %d background reads sent, the last %v after the burst; want all by %v", n, c.n, last.Sub(start), drainMax)
				}
				// A saturating background stream for five minutes, once the burst's slots have aged out.
				time.Sleep(c.route.Window + bucketGuard)
				from := time.Now()
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
				defer cancel()
				var wg sync.WaitGroup
				for i := range 4 {
					wg.Go(func() {
						time.Sleep(time.Duration(i) * time.Microsecond)
						loop(t, WithTicket(ctx, Ticket{Class: Background, User: "poller"}), g, fmt.Sprintf("/monitors/p%d", i), "X-Tag", "bg")
					})
				}
				wg.Wait()
				sent := 0
				for _, s := range log.sends() {
					if s.tag == "bg" && !s.at.Before(from) {
						sent++
					}
				}
				if want := 0.95 * rate * (5 * time.Minute).Seconds(); float64(sent) < want {
					t.Fatalf("a saturating background stream sent %d in five minutes; want ≥ %.0f (%.2f per second)", sent, want, rate)
				}
				checkBucketLog(t, log, c.route.Limit, res, c.route.Window, within)
			})
		})
	}
}

// The wait observer of a background read held by the reserve is told when it will go, and it goes then.
func TestRouteReserveEstimatesAreTruthful(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, log := reserveRig(t, Route{Limit: 10, Window: 10 * time.Second})
		defer g.Close()
		const n = 20
		obs := make([]*observed, n)
		var wg sync.WaitGroup
		bg := WithTicket(t.Context(), Ticket{Class: Background, User: "notifier"})
		for i := range n {
			obs[i] = &observed{}
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Microsecond)
				if _, err := get(t, WithWaitObserver(bg, obs[i].fn), g, fmt.Sprintf("/monitors/m%d", i), "X-Tag", fmt.Sprint(i)); err != nil {
					t.Error(err)
				}
			})
		}
		// What a person and another background read would face now, by path.
		time.Sleep(time.Millisecond)
		if in := g.EstimateRoute("GET", "/monitors/x", Ticket{Class: Interactive}); in.Estimate != 0 {
			t.Errorf("a person's estimate after the burst: %+v; want none, the reserve is free", in)
		}
		held := n - routeBackgroundBurst
		bgEst := g.EstimateRoute("GET", "/monitors/x", Ticket{Class: Background, User: "notifier"})
		if bgEst.Reason != "route bucket" || bgEst.Ahead != held || bgEst.Estimate < 15*time.Second {
			t.Errorf("another background read's estimate: %+v; want behind the %d queued, on the route bucket", bgEst, held)
		}
		// Another background user is served round-robin: after the notifier's next read, two pace periods on.
		period := (10*time.Second + bucketGuard - 2*time.Second) / 7
		if other := g.EstimateRoute("GET", "/monitors/x", Ticket{Class: Background, User: "poller"}); other.Ahead != 1 ||
			other.Estimate < 2*period-10*time.Millisecond || other.Estimate > 2*period+10*time.Millisecond {
			t.Errorf("another background user's estimate: %+v; want one ahead, two pace periods (%v)", other, 2*period)
		}
		wg.Wait()
		sentAt := map[string]time.Time{}
		for _, s := range log.sends() {
			sentAt[s.tag] = s.at
		}
		told := 0
		for i := range n {
			infos, _ := obs[i].list()
			if len(infos) == 0 {
				if i >= routeBackgroundBurst {
					t.Errorf("read %d waited until %v without a report", i, sentAt[fmt.Sprint(i)])
				}
				continue
			}
			told++
			first := infos[0]
			if first.Reason != "route bucket" {
				t.Errorf("read %d told %+v; want the route bucket", i, first)
			}
			if d := sentAt[fmt.Sprint(i)].Sub(first.Until); d < -time.Second || d > time.Second {
				t.Errorf("read %d was told it would go at %v and went at %v", i, first.Until, sentAt[fmt.Sprint(i)])
			}
		}
		if told != held {
			t.Errorf("%d reads told they wait; want the %d the reserve held back", told, held)
		}
		if bgEst.Until.Before(sentAt["19"]) {
			t.Errorf("a 21st read was estimated at %v, before the 20th went at %v", bgEst.Until, sentAt["19"])
		}
	})
}

// The reserve follows the interactive demand of recent windows, up to half the bucket, and falls back to the
// configured one when people stop asking.
func TestRouteReserveFollowsDemand(t *testing.T) {
	const W = 10 * time.Second
	cases := []struct {
		name        string
		perWindow   []int // interactive sends in successive windows
		wantReserve int
	}{
		{"nobody asked", nil, 3},
		{"2 per window", repeat(2, 10), 3},
		{"4 per window", repeat(4, 10), 4},
		{"8 per window: capped at half", repeat(8, 10), 5},
		{"8 per window, then 10 quiet windows", append(repeat(8, 10), repeat(0, 10)...), 3},
		{"one busy window", []int{6}, 3},
		{"a busy minute", repeat(6, 6), 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &bucket{name: "t", limit: 10, window: W}
			b.reserve, b.within = routeReserve(Route{Limit: 10, Window: W})
			t0 := epochPlus(0)
			for i, n := range c.perWindow {
				for j := range n {
					b.noteInteractive(t0.Add(time.Duration(i)*W+time.Duration(j)*time.Second), 1)
				}
			}
			now := t0.Add(time.Duration(len(c.perWindow)) * W)
			if got := b.reserveAt(now); got != c.wantReserve {
				t.Fatalf("reserve %d (demand %.2f); want %d", got, b.demandAt(now), c.wantReserve)
			}
			// Background is held to Limit − reserve of the sends still holding a slot ReserveWithin from now.
			span := b.reserveSpan()
			for range b.limit - c.wantReserve {
				b.add(now.Add(-time.Second), 1)
			}
			if at := b.nextFreeFor(now, Background, 1); !at.Equal(now.Add(span - time.Second)) {
				t.Fatalf("background may go at %v with %d recent sends; want when the first leaves the span, %v", at.Sub(now), b.limit-c.wantReserve, span-time.Second)
			}
			if at := b.nextFreeFor(now, Interactive, 1); !at.Equal(now) {
				t.Fatalf("a person may go at %v; want now", at.Sub(now))
			}
		})
	}
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}
