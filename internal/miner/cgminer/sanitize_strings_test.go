package cgminer

import "testing"

func TestSanitizeLeavesStringsAlone(t *testing.T) {
	in := `{"a":"x}{y","b":[1,2],"c":{"d":"inf,}"}}`
	out, err := Sanitize([]byte(in))
	if err != nil || string(out) != in {
		t.Errorf("Sanitize(%s) = %s, %v; want it unchanged", in, out, err)
	}
	var v struct{ A string }
	if err := Unmarshal([]byte(in), &v); err != nil || v.A != "x}{y" {
		t.Errorf("Unmarshal of a string holding }{: %q, %v", v.A, err)
	}
}
