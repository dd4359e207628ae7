package jsonscan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// walk reads {"name": string, "watts": number, "on": bool, "fans": [numbers]}
// and skips every other key.
func walk(b string) (name string, watts float64, on bool, fans []float64, ok bool) {
	s := Scanner{B: []byte(b)}
	s.WS()
	ok = s.Object([]string{"name", "watts", "on", "fans"}, func(k int) bool {
		switch k {
		case 0:
			t, ok := s.Text()
			name = string(t)
			return ok
		case 1:
			v, ok := s.Float()
			watts = v
			return ok
		case 2:
			v, ok := s.Boolean()
			on = v
			return ok
		default:
			return s.Array(func(int) bool {
				v, ok := s.Float()
				fans = append(fans, v)
				return ok
			})
		}
	})
	if ok {
		s.WS()
		ok = s.I == len(s.B)
	}
	return
}

func TestScanner(t *testing.T) {
	type got struct {
		Name  string
		Watts float64
		On    bool
		Fans  []float64
		OK    bool
	}
	tests := []struct {
		in   string
		want got
	}{
		{`{"name":"S21","watts":3500,"on":true,"fans":[4200,4250]}`, got{"S21", 3500, true, []float64{4200, 4250}, true}},
		{` { "extra" : {"deep":[1,{"x":null}]}, "name" : "a\u00e9\"b", "watts" : 2.5e3 } `, got{Name: "aé\"b", Watts: 2500, OK: true}},
		{`{"name":"x","watts":1}{"name":"y"}`, got{Name: "x", Watts: 1}}, // a second value: not handled
		{`{"name":"x",}`, got{Name: "x"}},                                  // trailing comma: not handled
		{`{"watts":inf}`, got{}},                                           // not JSON: not handled
		{`{"name":"x","watts":`, got{Name: "x"}},                           // truncated
		{`{"name":"x","fans":[1,2`, got{Name: "x", Fans: []float64{1, 2}}}, // truncated array
	}
	for _, tt := range tests {
		var g got
		g.Name, g.Watts, g.On, g.Fans, g.OK = walk(tt.in)
		if diff := cmp.Diff(tt.want, g); diff != "" {
			t.Errorf("walk(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzScanner(f *testing.F) {
	f.Add(`{"name":"S21","watts":3500,"on":true,"fans":[4200,4250]}`)
	f.Add(`{"a":[[[[{"b":"\ud83d\ude00"}]]]],"watts":-0.5e-3}`)
	f.Fuzz(func(t *testing.T, in string) {
		walk(in) // must not panic or loop
	})
}

// members walks an object with any keys the way Open's doc shows.
func members(s *Scanner, member func(key []byte) bool) bool {
	more, ok := s.Open('{', '}')
	for more {
		key, kok := s.Key()
		if !kok || !s.Colon() || !member(key) {
			return false
		}
		more, ok = s.Next('}')
	}
	return ok
}

func TestOpenColonNext(t *testing.T) {
	tests := []struct {
		in   string
		keys []string
		ok   bool
	}{
		{`{"MM ID0":"a","MM ID1":1,"x":[{}]}`, []string{"MM ID0", "MM ID1", "x"}, true},
		{`null`, nil, true},
		{`{}`, nil, true},
		{`{"a":1,}`, []string{"a"}, false},
		{`{"a" 1}`, nil, false},
		{`["a"]`, nil, false},
	}
	for _, tt := range tests {
		s := Scanner{B: []byte(tt.in)}
		var keys []string
		ok := members(&s, func(key []byte) bool {
			keys = append(keys, string(key))
			return s.Skip(0)
		})
		if ok != tt.ok || !cmp.Equal(keys, tt.keys) {
			t.Errorf("members(%s): keys %q ok %v; want %q %v", tt.in, keys, ok, tt.keys, tt.ok)
		}
	}
}
