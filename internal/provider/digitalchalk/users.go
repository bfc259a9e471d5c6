package digitalchalk

import (
	"context"
	"net/url"
	"sync"

	"github.com/registrarhq/registrar/internal/lms"
	"github.com/registrarhq/registrar/internal/provider"
)

// userDirectory caches users by id, because registrations carry only userId
// and DigitalChalk has no way to embed the user. Its memory is one small
// entry per user of the organisation (users_pass) or per learner seen
// (per_user), dropped at the start of each walk.
type userDirectory struct {
	c *Connector
	// loading lets one caller at a time fetch users, so that concurrent pages
	// do not repeat the users pass; a channel, so waiting honours ctx.
	loading chan struct{}

	mu       sync.Mutex
	byID     map[string]lms.User
	passDone bool
}

func newUserDirectory(c *Connector) *userDirectory {
	return &userDirectory{c: c, loading: make(chan struct{}, 1), byID: map[string]lms.User{}}
}

// reset forgets every user, so that the next lookup sees current names.
func (d *userDirectory) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byID = map[string]lms.User{}
	d.passDone = false
}

func (d *userDirectory) missing(ids []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if _, ok := d.byID[id]; !ok && id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (d *userDirectory) remember(u lms.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byID[u.ID] = u
}

// lookup returns the users of ids that DigitalChalk knows. allowPass lets the
// users_pass mode walk all users (a bulk listing); a single read looks its
// one user up by id instead.
func (d *userDirectory) lookup(ctx context.Context, ids []string, allowPass bool) (map[string]lms.User, error) {
	if d.c.userDetails == userDetailsNone {
		return nil, nil
	}
	if len(d.missing(ids)) > 0 {
		select {
		case d.loading <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		err := d.load(ctx, ids, allowPass)
		<-d.loading
		if err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]lms.User, len(ids))
	for _, id := range ids {
		if u, ok := d.byID[id]; ok {
			out[id] = u
		}
	}
	return out, nil
}

func (d *userDirectory) load(ctx context.Context, ids []string, allowPass bool) error {
	d.mu.Lock()
	pass := allowPass && d.c.userDetails == userDetailsUsersPass && !d.passDone
	d.mu.Unlock()
	if pass && len(d.missing(ids)) > 0 {
		cursor := ""
		for {
			users, next, err := fetchPage[user](ctx, d.c, pathUsers, nil, cursor)
			if err != nil {
				return err
			}
			for _, u := range users {
				d.remember(toUser(u))
			}
			if next == "" {
				break
			}
			cursor = next
		}
		d.mu.Lock()
		d.passDone = true
		d.mu.Unlock()
	}
	// Users created after the pass, or every user in per_user mode.
	for _, id := range d.missing(ids) {
		var u user
		err := d.c.getJSON(ctx, d.c.endpoint(pathUsers+"/"+url.PathEscape(id), nil), &u)
		switch {
		case provider.IsKind(err, provider.KindNotFound):
			// Deleted since it registered: remember the id alone so the next
			// page does not ask again.
			d.remember(lms.User{ID: id})
		case err != nil:
			return err
		default:
			if u.ID == "" {
				u.ID = id
			}
			d.remember(toUser(u))
		}
	}
	return nil
}
