package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/joinedup/joinedup"
)

// UpsertOrganisation creates the organisation or renames it.
func (db *DB) UpsertOrganisation(ctx context.Context, o joinedup.Organisation) error {
	return db.Tx(ctx, func(tx *Tx) error {
		if err := upsertOrganisation(ctx, tx, o); err != nil {
			return err
		}
		return requireUniqueOrganisationName(ctx, tx, o)
	})
}

func upsertOrganisation(ctx context.Context, tx *Tx, o joinedup.Organisation) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO organisations (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name`, o.ID, o.Name)
	return err
}

// FindOrganisation returns the organisation with the id, or ENOTFOUND.
func (db *DB) FindOrganisation(ctx context.Context, id joinedup.OrgID) (*joinedup.Organisation, error) {
	o := &joinedup.Organisation{}
	err := db.View(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM organisations WHERE id = $1`, id).Scan(&o.ID, &o.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no organisation %q.", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// ListOrganisations returns every organisation by id.
func (db *DB) ListOrganisations(ctx context.Context) ([]joinedup.Organisation, error) {
	var out []joinedup.Organisation
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM organisations ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var o joinedup.Organisation
			if err := rows.Scan(&o.ID, &o.Name); err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// CreateService stores a new service. A service with the same id, retired
// or not, or a service in use with the same name as joinedup.ServiceNameKey
// compares it, is ECONFLICT, and an unknown organisation is EINVALID.
func (db *DB) CreateService(ctx context.Context, s *joinedup.Service) error {
	return db.Tx(ctx, func(tx *Tx) error {
		if err := requireOrganisation(ctx, tx, s.Organisation); err != nil {
			return err
		}
		// A retired service keeps its id, because the records that name it
		// must not come to name a new service.
		var retired int64
		err := tx.QueryRowContext(ctx, `SELECT retired_at FROM services WHERE id = $1`, s.ID).Scan(&retired)
		if err == nil && retired != 0 {
			return joinedup.Errorf(joinedup.ECONFLICT,
				"A removed service had the id %q, and its records still name it. Choose another id.", s.ID)
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		s.CreatedAt = tx.Now()
		return insertService(ctx, tx, s)
	})
}

// organisationNameLockKey is the PostgreSQL advisory lock that serialises
// the check of an organisation's name with the write that stores it.
const organisationNameLockKey = 0x6f7267616e697301

// requireUniqueOrganisationName returns ECONFLICT naming the other
// organisation whose name has the same joinedup.ServiceNameKey as o's. A
// consent receipt names each service's organisation as the controller of
// the data, so two that read the same would leave the informant unable to
// tell them apart.
func requireUniqueOrganisationName(ctx context.Context, tx *Tx, o joinedup.Organisation) error {
	if tx.Dialect() == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(organisationNameLockKey)); err != nil {
			return fmt.Errorf("lock organisation names: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM organisations WHERE id <> $1 ORDER BY id`, o.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	key := joinedup.ServiceNameKey(o.Name)
	for rows.Next() {
		var id joinedup.OrgID
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		if joinedup.ServiceNameKey(name) == key {
			message := fmt.Sprintf("The organisation %q already has the name %q. Choose another name, or rename that organisation first.", id, name)
			return &joinedup.Error{Code: joinedup.ECONFLICT, Message: message,
				Fields: []joinedup.FieldError{{Field: "/name", Message: message}}}
		}
	}
	return rows.Err()
}

// serviceNameLockKey is the PostgreSQL advisory lock that serialises the
// check of a service's name with the write that stores it, across nodes.
const serviceNameLockKey = 0x7365727669636501

// requireUniqueName returns ECONFLICT naming the other service in use
// whose name has the same joinedup.ServiceNameKey as s's. On PostgreSQL a
// transaction-level advisory lock keeps another node from storing the
// same name until this transaction ends. On SQLite the write transaction
// already excludes every other writer.
func requireUniqueName(ctx context.Context, tx *Tx, s *joinedup.Service) error {
	if tx.Dialect() == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(serviceNameLockKey)); err != nil {
			return fmt.Errorf("lock service names: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM services WHERE retired_at = 0 AND id <> $1 ORDER BY id`, s.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	key := joinedup.ServiceNameKey(s.Name)
	for rows.Next() {
		var id joinedup.ServiceID
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		if joinedup.ServiceNameKey(name) == key {
			message := fmt.Sprintf("The service %q already has the name %q. Choose another name, or rename or remove that service first.", id, name)
			return &joinedup.Error{Code: joinedup.ECONFLICT, Message: message,
				Fields: []joinedup.FieldError{{Field: "/name", Message: message}}}
		}
	}
	return rows.Err()
}

// PutService creates s or replaces the stored service with the same id.
// The configuration file read at start uses it, so that editing the file
// and restarting updates the service. A retired service is left as it is
// and is ECONFLICT, so a file that still lists it cannot bring it back. A
// name that another service in use has is ECONFLICT, as for CreateService.
func (db *DB) PutService(ctx context.Context, s *joinedup.Service) error {
	return db.Tx(ctx, func(tx *Tx) error { return putService(ctx, tx, s) })
}

func putService(ctx context.Context, tx *Tx, s *joinedup.Service) error {
	if err := putServiceRow(ctx, tx, s); err != nil {
		return err
	}
	return requireUniqueName(ctx, tx, s)
}

// putServiceRow creates s or replaces the stored service with its id, as
// putService does, without checking that its name is unique.
func putServiceRow(ctx context.Context, tx *Tx, s *joinedup.Service) error {
	if err := requireOrganisation(ctx, tx, s.Organisation); err != nil {
		return err
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = tx.Now()
	}
	return insertServiceRow(ctx, tx, s, true)
}

// PutServicesFile stores the organisations and services of a services
// file in one transaction, as UpsertOrganisation and PutService do for
// each, so that a file that fails part of the way stores nothing. A
// service that was removed is left as it is, and its id is returned in
// retired. When a service is rejected, failed is its index in services;
// otherwise failed is -1.
func (db *DB) PutServicesFile(ctx context.Context, orgs []joinedup.Organisation, services []*joinedup.Service) (retired []joinedup.ServiceID, failed int, err error) {
	failed = -1
	err = db.Tx(ctx, func(tx *Tx) error {
		retired, failed = nil, -1
		for _, o := range orgs {
			if err := upsertOrganisation(ctx, tx, o); err != nil {
				return fmt.Errorf("register organisation %s: %w", o.ID, err)
			}
		}
		// As for services below, names are compared once every
		// organisation of the file is stored.
		for _, o := range orgs {
			if err := requireUniqueOrganisationName(ctx, tx, o); err != nil {
				return fmt.Errorf("register organisation %s: %w", o.ID, err)
			}
		}
		var stored []int // the indexes in services of those stored
		for i, s := range services {
			var retiredAt int64
			err := tx.QueryRowContext(ctx, `SELECT retired_at FROM services WHERE id = $1`, s.ID).Scan(&retiredAt)
			if err == nil && retiredAt != 0 {
				retired = append(retired, s.ID)
				continue
			} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("find service %s: %w", s.ID, err)
			}
			if err := putServiceRow(ctx, tx, s); err != nil {
				failed = i
				return err
			}
			stored = append(stored, i)
		}
		// Names are compared once every service of the file is stored, so
		// that a file may rename a service and give its old name to
		// another in either order.
		for _, i := range stored {
			if err := requireUniqueName(ctx, tx, services[i]); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	return retired, failed, err
}

// UpdateService replaces the registration of the service with s's id. A
// service that does not exist, or is retired, is ENOTFOUND. A name that
// another service in use has is ECONFLICT, as for CreateService. The id,
// created_at and retired_at columns are never changed.
func (db *DB) UpdateService(ctx context.Context, s *joinedup.Service) error {
	return db.Tx(ctx, func(tx *Tx) error {
		if err := requireOrganisation(ctx, tx, s.Organisation); err != nil {
			return err
		}
		types, fields, err := encodeServiceLists(s)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE services SET organisation = $2, name = $3, event_types = $4, fields = $5, purpose = $6,
				endpoint_kind = $7, endpoint_url = $8, endpoint_subject = $9, secret = $10, lawful_basis = $11
			WHERE id = $1 AND retired_at = 0`,
			s.ID, s.Organisation, s.Name, types, fields, s.Purpose,
			s.Endpoint.Kind, s.Endpoint.URL, s.Endpoint.Subject, s.Secret, s.LawfulBasis)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errServiceNotInUse(ctx, tx, s.ID)
		}
		return requireUniqueName(ctx, tx, s)
	})
}

// errServiceNotInUse returns the ENOTFOUND error for a change to service
// id that found no service in use, because there is none or it is retired.
func errServiceNotInUse(ctx context.Context, tx *Tx, id joinedup.ServiceID) error {
	s, err := scanService(tx.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %q.", id)
	} else if err != nil {
		return err
	}
	return joinedup.ServiceRemoved(s)
}

func requireOrganisation(ctx context.Context, tx *Tx, id joinedup.OrgID) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM organisations WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Invalid("Unknown organisation.",
			joinedup.FieldError{Field: "/organisation", Message: fmt.Sprintf("There is no organisation %q", id)})
	}
	return err
}

func encodeServiceLists(s *joinedup.Service) (types, fields string, err error) {
	t, err := json.Marshal(s.EventTypes)
	if err != nil {
		return "", "", err
	}
	f, err := json.Marshal(s.Fields)
	if err != nil {
		return "", "", err
	}
	return string(t), string(f), nil
}

func insertService(ctx context.Context, tx *Tx, s *joinedup.Service) error {
	if err := insertServiceRow(ctx, tx, s, false); err != nil {
		return err
	}
	return requireUniqueName(ctx, tx, s)
}

// insertServiceRow stores s as insertService does, without checking that
// its name is unique.
func insertServiceRow(ctx context.Context, tx *Tx, s *joinedup.Service, replace bool) error {
	types, fields, err := encodeServiceLists(s)
	if err != nil {
		return err
	}
	q := `INSERT INTO services (id, organisation, name, event_types, fields, purpose,
			endpoint_kind, endpoint_url, endpoint_subject, secret, created_at, lawful_basis)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	if replace {
		q += ` ON CONFLICT (id) DO UPDATE SET organisation = excluded.organisation,
			name = excluded.name, event_types = excluded.event_types, fields = excluded.fields,
			purpose = excluded.purpose, endpoint_kind = excluded.endpoint_kind,
			endpoint_url = excluded.endpoint_url, endpoint_subject = excluded.endpoint_subject,
			secret = excluded.secret, lawful_basis = excluded.lawful_basis
			WHERE services.retired_at = 0`
	}
	res, err := tx.ExecContext(ctx, q, s.ID, s.Organisation, s.Name, types, fields, s.Purpose,
		s.Endpoint.Kind, s.Endpoint.URL, s.Endpoint.Subject, s.Secret, Micros(s.CreatedAt), s.LawfulBasis)
	var e *joinedup.Error
	if errors.As(tx.db.wrap(err), &e) && e.Code == joinedup.ECONFLICT {
		return &joinedup.Error{Code: joinedup.ECONFLICT, Message: fmt.Sprintf("A service with id %q already exists.", s.ID), Err: err}
	} else if err != nil {
		return err
	}
	// The upsert changes no row only when the stored service is retired.
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return joinedup.Errorf(joinedup.ECONFLICT, "The service %q was removed, so it cannot be registered again.", s.ID)
	}
	return nil
}

const serviceColumns = `id, organisation, name, event_types, fields, purpose,
	endpoint_kind, endpoint_url, endpoint_subject, secret, created_at, lawful_basis, retired_at`

func scanService(row interface{ Scan(...any) error }) (*joinedup.Service, error) {
	var s joinedup.Service
	var types, fields string
	var created, retired int64
	if err := row.Scan(&s.ID, &s.Organisation, &s.Name, &types, &fields, &s.Purpose,
		&s.Endpoint.Kind, &s.Endpoint.URL, &s.Endpoint.Subject, &s.Secret, &created, &s.LawfulBasis, &retired); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &s.EventTypes); err != nil {
		return nil, fmt.Errorf("decode event types of service %s: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(fields), &s.Fields); err != nil {
		return nil, fmt.Errorf("decode fields of service %s: %w", s.ID, err)
	}
	s.CreatedAt, s.RetiredAt = FromMicros(created), FromMicros(retired)
	return &s, nil
}

// FindService returns the service with the given id, secret included,
// retired or not, or ENOTFOUND.
func (db *DB) FindService(ctx context.Context, id joinedup.ServiceID) (*joinedup.Service, error) {
	s, err := scanService(db.queryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %q.", id)
	} else if err != nil {
		return nil, db.wrap(err)
	}
	return s, nil
}

// ListServices returns the services in use by id, secrets included, and
// leaves out retired ones.
func (db *DB) ListServices(ctx context.Context) ([]*joinedup.Service, error) {
	return db.listServices(ctx, `WHERE retired_at = 0 ORDER BY id`)
}

// ListAllServices returns every service by id, secrets included, retired
// ones too, for showing the names of services that records refer to.
func (db *DB) ListAllServices(ctx context.Context) ([]*joinedup.Service, error) {
	return db.listServices(ctx, `ORDER BY id`)
}

func (db *DB) listServices(ctx context.Context, clause string) ([]*joinedup.Service, error) {
	rows, err := db.query(ctx, `SELECT `+serviceColumns+` FROM services `+clause)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	var out []*joinedup.Service
	for rows.Next() {
		s, err := scanService(rows)
		if err != nil {
			return nil, db.wrap(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(err)
	}
	return out, nil
}
