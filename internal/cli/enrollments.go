package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/registrarhq/registrar/internal/api"
	"github.com/registrarhq/registrar/internal/lms"
)

// DefaultServer is where `registrar serve` listens unless told otherwise.
const DefaultServer = "http://127.0.0.1:8080"

// apiClient talks to a running Registrar over its HTTP API, as any other
// client would: the commands built on it work against a remote server too.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

func newAPIClient(server, key string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: use a URL such as %s", server, DefaultServer)
	}
	if key == "" {
		return nil, errors.New("no API key: pass --api-key or set REGISTRAR_API_KEY (registrar apikey create makes one)")
	}
	return &apiClient{base: u.String(), key: key, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// get decodes the answer to GET path?query into out; a problem answer
// becomes an *api.Problem error.
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("cannot reach Registrar at %s (is registrar serve running? see --server): %w", c.base, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", path, err)
	}
	if res.StatusCode >= 400 {
		var p api.Problem
		if json.Unmarshal(body, &p) != nil || p.Status == 0 {
			return fmt.Errorf("%s answered HTTP %d", path, res.StatusCode)
		}
		if p.Detail == "" {
			p.Detail = p.Title
		}
		p.Detail = fmt.Sprintf("%s (HTTP %d)", p.Detail, p.Status)
		return problemMessage(&p)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s answered something that is not JSON: %w", path, err)
	}
	return nil
}

// connections maps connection ids to names (for display) and resolves a
// name or id given on the command line.
func (c *apiClient) connections(ctx context.Context) ([]api.Connection, error) {
	var page struct {
		Data []api.Connection `json:"data"`
	}
	if err := c.get(ctx, "/v1/connections", nil, &page); err != nil {
		return nil, err
	}
	return page.Data, nil
}

type enrollmentsListOptions struct {
	server, apiKey string
	connection     string
	statuses       []string
	users, courses []string
	limit          int
	all            bool
	format         string
	cursor         string
}

func newEnrollmentsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "enrollments", Aliases: []string{"enrollment"}, Short: "Read course enrollments from a running Registrar"}
	o := &enrollmentsListOptions{}
	list := &cobra.Command{
		Use:   "list",
		Short: "List course enrollments (from the server's stored copy)",
		Long: "Lists course enrollments through the API of a running Registrar (registrar serve or registrar demo). " +
			"Without --all it prints one page of --limit records and says on stderr when more exist.",
		Example: `  registrar enrollments list --status overdue
  registrar enrollments list --connection acme-canvas --status passed --status failed --all --format csv > results.csv
  REGISTRAR_API_KEY=rk_... registrar enrollments list --server https://registrar.example.com --user 42 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := list.Flags()
	f.StringVar(&o.server, "server", DefaultServer, "URL of the running Registrar")
	f.StringVar(&o.apiKey, "api-key", "", "API key (registrar apikey create makes one; a read-only key is enough)")
	f.StringVar(&o.connection, "connection", "", "only this connection (name or id)")
	f.StringSliceVar(&o.statuses, "status", nil, "only these statuses (repeat or comma-separate): assigned, enrolled, in_progress, completed, passed, failed, withdrawn, expired, overdue, unknown")
	f.StringSliceVar(&o.users, "user", nil, "only these LMS user ids (repeat or comma-separate)")
	f.StringSliceVar(&o.courses, "course", nil, "only these LMS course ids (repeat or comma-separate)")
	f.IntVar(&o.limit, "limit", api.DefaultLimit, "records per page (1-1000)")
	f.BoolVar(&o.all, "all", false, "follow every page, not just the first")
	f.StringVar(&o.format, "format", "table", "output format: table, json or csv")
	f.StringVar(&o.cursor, "cursor", "", "start at this next_cursor of an earlier page")
	cmd.AddCommand(list)
	return cmd
}

func (o *enrollmentsListOptions) validate() error {
	switch o.format {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("--format %q: use table, json or csv", o.format)
	}
	if o.limit < 1 || o.limit > api.MaxLimit {
		return fmt.Errorf("--limit %d: use 1 to %d", o.limit, api.MaxLimit)
	}
	for _, s := range o.statuses {
		for _, v := range strings.Split(s, ",") {
			if _, err := lms.ParseStatus(strings.TrimSpace(v)); err != nil {
				return fmt.Errorf("--status: %w", err)
			}
		}
	}
	return nil
}

func (o *enrollmentsListOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	c, err := newAPIClient(o.server, o.apiKey)
	if err != nil {
		return err
	}
	conns, err := c.connections(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, cn := range conns {
		names[cn.ID] = cn.Name
	}
	q := url.Values{"limit": {strconv.Itoa(o.limit)}}
	for _, s := range o.statuses {
		q.Add("status", s)
	}
	for _, u := range o.users {
		q.Add("user_id", u)
	}
	for _, cr := range o.courses {
		q.Add("course_id", cr)
	}
	if o.connection != "" {
		id, err := resolveConnection(conns, o.connection)
		if err != nil {
			return err
		}
		q.Set("connection_id", id)
	}
	var records []lms.CourseEnrollment
	cursor := o.cursor
	for {
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page api.EnrollmentList
		if err := c.get(ctx, "/v1/course-enrollments", q, &page); err != nil {
			return err
		}
		records = append(records, page.Data...)
		cursor = page.NextCursor
		if cursor == "" {
			break
		}
		if !o.all {
			fmt.Fprintf(stderr, "more enrollments exist: add --all, or --cursor %s for the next page\n", cursor)
			break
		}
	}
	switch o.format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if records == nil {
			records = []lms.CourseEnrollment{}
		}
		return enc.Encode(records)
	case "csv":
		return writeEnrollmentsCSV(stdout, records, names)
	}
	return writeEnrollmentsTable(stdout, records, names)
}

// resolveConnection accepts a connection's name or id.
func resolveConnection(conns []api.Connection, ref string) (string, error) {
	for _, c := range conns {
		if c.Name == ref || c.ID == ref {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("no connection named %q (registrar connections list shows them)", ref)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func formatScore(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func userName(e lms.CourseEnrollment) string {
	if e.User == nil {
		return ""
	}
	if e.User.Name != "" {
		return e.User.Name
	}
	return e.User.ID
}

func userEmail(e lms.CourseEnrollment) string { return e.User.PrimaryEmail() }

func courseTitle(e lms.CourseEnrollment) string {
	if e.Course == nil {
		return ""
	}
	if e.Course.Title != "" {
		return e.Course.Title
	}
	return e.Course.ID
}

func connectionName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// cell keeps a value on one table line and within a readable width.
func cell(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > width {
		return string(r[:width-1]) + "…"
	}
	return orDash(s)
}

func writeEnrollmentsTable(w io.Writer, records []lms.CourseEnrollment, names map[string]string) error {
	if len(records) == 0 {
		_, err := fmt.Fprintln(w, "no enrollments match")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tEMAIL\tCOURSE\tSTATUS\tDUE\tSCORE\tPROVIDER\tCONNECTION")
	for _, e := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(userName(e), 28), cell(userEmail(e), 32), cell(courseTitle(e), 36),
			e.Status, orDash(formatDate(e.DueAt)), orDash(formatScore(e.Score)), orDash(e.Provider), cell(connectionName(names, e.ConnectionID), 24))
	}
	return tw.Flush()
}

func writeEnrollmentsCSV(w io.Writer, records []lms.CourseEnrollment, names map[string]string) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"connection", "connection_id", "provider", "id", "user_id", "user_name", "user_email",
		"course_id", "course_title", "status", "remote_status", "due_at", "completed_at", "score", "is_current", "updated_at"})
	rfc := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, e := range records {
		var uid, name, cid, title string
		if e.User != nil {
			uid, name = e.User.ID, e.User.Name
		}
		if e.Course != nil {
			cid, title = e.Course.ID, e.Course.Title
		}
		current := ""
		if e.IsCurrent != nil {
			current = strconv.FormatBool(*e.IsCurrent)
		}
		_ = cw.Write([]string{connectionName(names, e.ConnectionID), e.ConnectionID, e.Provider, e.ID, uid, name,
			userEmail(e), cid, title, string(e.Status), e.RemoteStatus, rfc(e.DueAt), rfc(e.CompletedAt),
			formatScore(e.Score), current, rfc(e.UpdatedAt)})
	}
	cw.Flush()
	return cw.Error()
}
