package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Print writes the report as one table per provider.
func Print(w io.Writer, r *Report) {
	m := r.Machine
	fmt.Fprintf(w, "registrar bench: %d enrollments; %d CPUs (%s), %s, %s\n", r.Enrollments, m.CPUs, m.CPUModel, m.GoVersion, m.OSArch)
	for _, p := range r.Providers {
		fmt.Fprintf(w, "\n%s\n", p.Provider)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		f := p.Full
		cores := ""
		if f.Cores > 0 {
			cores = fmt.Sprintf("; cores busy %.1f (fetch %.1f)", f.Cores, f.FetchCores)
		}
		fmt.Fprintf(tw, "  full sync\t%d records in %.2f s\t%.0f records/s\tbare fetch %.2f s, ratio %.2f×%s\n",
			f.Records, f.Seconds, f.RecordsPerSec, f.FetchSeconds, f.Ratio, cores)
		rs := p.Resync
		fmt.Fprintf(tw, "  re-sync, unchanged\t%.2f s\t%d rows written, %d events\tbookkeeping: %d seen marks, %d checkpoints\n",
			rs.Seconds, rs.RowsWritten, rs.Events, rs.SeenMarks, rs.Checkpoints)
		if inc := p.Incremental; inc != nil {
			fmt.Fprintf(tw, "  incremental, %d changed\t%.3f s\t%d requests\t%d rows written\n", inc.Changed, inc.Seconds, inc.Requests, inc.Written)
		}
		rl := p.RateLimited
		fmt.Fprintf(tw, "  rate limit %.0f/s\t%.2f of allowed (%.1f/s)\t%d accepted, %d refused\tlongest refusal run %d\n",
			rl.Limit, rl.Ratio, rl.Achieved, rl.Accepted, rl.Refused, rl.MaxRefusedInRow)
		for _, a := range p.API {
			for _, rd := range a.Reads {
				name := rd.Name
				if rd.DeepOffset > 0 {
					name = fmt.Sprintf("%s (offset %d)", name, rd.DeepOffset)
				}
				fmt.Fprintf(tw, "  API %d stored, %d clients\t%s\t%.0f req/s\tp50 %.2f ms, p99 %.2f ms\n",
					a.Stored, a.Clients, name, rd.PerSecond, rd.P50ms, rd.P99ms)
			}
		}
		for _, mem := range p.Memory {
			fmt.Fprintf(tw, "  sync process memory\t%d records\tpeak %.1f MB\t%.2f s\n", mem.Records, mem.PeakMB, mem.Seconds)
		}
		if len(p.Memory) == 2 && p.Memory[0].PeakMB > 0 {
			fmt.Fprintf(tw, "  memory growth\t%.2f×\t\t\n", p.Memory[1].PeakMB/p.Memory[0].PeakMB)
		}
		tw.Flush()
	}
}
