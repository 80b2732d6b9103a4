package checks

// Perfdata is one performance data item, as plugins emit it:
// 'label'=value[UOM];[warn];[crit];[min];[max]. Nil pointers are absent fields.
type Perfdata struct {
	Label string   `json:"label"`
	Value *float64 `json:"value,omitempty"`
	UOM   string   `json:"uom,omitempty"`
	// Warn and Crit are the raw threshold ranges ("10:20", "@0:5", "~:3").
	Warn string   `json:"warn,omitempty"`
	Crit string   `json:"crit,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}
