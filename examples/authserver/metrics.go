package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sdkauth/revocation/revoke"
)

// statsCollector exports a Revoker's Stats as Prometheus metrics, read at
// each scrape: the library itself depends on no metrics package.
type statsCollector struct {
	rev                                    *revoke.Revoker
	checks, revocations, reuse, index, lag *prometheus.Desc
}

func newStatsCollector(rev *revoke.Revoker) *statsCollector {
	return &statsCollector{
		rev: rev,
		checks: prometheus.NewDesc("revocation_checks_total",
			"IsRevoked checks, by result (revoked or live).", []string{"result"}, nil),
		revocations: prometheus.NewDesc("revocations_total",
			"Tokens revoked, by reason (direct, cascade, reuse, subject, client).", []string{"reason"}, nil),
		reuse: prometheus.NewDesc("refresh_reuse_detected_total",
			"Refresh tokens presented again after rotation; each revoked its grant.", nil, nil),
		index: prometheus.NewDesc("revocation_index_entries",
			"Revoked tokens held in the in-memory index.", nil, nil),
		lag: prometheus.NewDesc("revocation_sync_lag_seconds",
			"How long ago the index last loaded revocations committed by other processes (0 without a follower).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.checks, c.revocations, c.reuse, c.index, c.lag} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.rev.Stats()
	ch <- prometheus.MustNewConstMetric(c.checks, prometheus.CounterValue, float64(st.ChecksRevoked), "revoked")
	ch <- prometheus.MustNewConstMetric(c.checks, prometheus.CounterValue, float64(st.ChecksLive), "live")
	for _, reason := range revoke.Reasons {
		ch <- prometheus.MustNewConstMetric(c.revocations, prometheus.CounterValue, float64(st.Revoked[reason]), reason.String())
	}
	ch <- prometheus.MustNewConstMetric(c.reuse, prometheus.CounterValue, float64(st.ReuseDetected))
	ch <- prometheus.MustNewConstMetric(c.index, prometheus.GaugeValue, float64(st.IndexEntries))
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, st.Lag.Seconds())
}

// metricsHandler serves the Revoker's metrics in the Prometheus text format,
// from a registry of its own.
func metricsHandler(rev *revoke.Revoker) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatsCollector(rev))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
