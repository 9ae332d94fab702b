package index

import "testing"

func TestMeasureIngestFillsANewIndex(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		res, err := MeasureIngest(t.Context(), dsn, 800)
		if err != nil {
			t.Fatal(err)
		}
		if res.Dialect != databaseOf(t) || res.Records < 800 || res.Blocks != 2 || res.RecordsPerSecond <= 0 {
			t.Errorf("MeasureIngest = %+v", res)
		}
		s := openStore(t, dsn)
		if _, records, err := s.Count(t.Context()); err != nil || records != int64(res.Records) {
			t.Errorf("the index holds %d records (%v), MeasureIngest says %d", records, err, res.Records)
		}
		if _, err := MeasureIngest(t.Context(), dsn, 10); err == nil {
			t.Error("MeasureIngest on a filled index: no error")
		}
	})
}
